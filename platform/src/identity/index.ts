export { identityDir, platformIdentity, type PlatformIdentity } from './identity-config.js';
export { DEMO_SHOP_TENANT, demoAccountLines, seedDemoAccounts, type DemoAccount } from './demo-accounts.js';
