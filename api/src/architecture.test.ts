import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * "Scope is the only way from a service to the database", checked on the types rather than by
 * convention: with the TypeScript checker, every call site in api/src that constructs a repository
 * (a class declared in a `repository.ts`) or calls a repository function must hand it something that
 * is not a `Database` (the `Queryable` of `scope.run`), and no service (`service.ts`) nor the
 * domains' dependencies may take a `Database` at all. A `Database` is recognised by shape (it can
 * open tenant scopes and transactions), so an alias or a wrapper type is caught too.
 *
 * Tests are left out: a repository's own test drives it against a database on purpose.
 */

const API_SRC = fileURLToPath(new URL('.', import.meta.url));
const ROOT = path.resolve(API_SRC, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')
      ? [full]
      : [];
  });
}

function compilerOptions(): ts.CompilerOptions {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'api/tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
  );
  if (!config) throw new Error('api/tsconfig.json does not parse');
  // The workspace packages from their sources (as vitest resolves them), so no build is needed.
  return {
    ...config.options,
    noEmit: true,
    composite: false,
    incremental: false,
    paths: { '@clutch/*': [path.join(ROOT, '*/src/index.ts')] },
  };
}

/** Extra files (path -> text) served to the compiler as if they were on disk: the planted examples. */
function createProgram(files: readonly string[], planted: Record<string, string> = {}): ts.Program {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => f in planted || fileExists.call(host, f);
  host.readFile = (f) => planted[f] ?? readFile.call(host, f);
  host.getSourceFile = (f, language, onError, create) =>
    f in planted
      ? ts.createSourceFile(f, planted[f]!, language, true)
      : getSourceFile.call(host, f, language, onError, create);
  return ts.createProgram([...files, ...Object.keys(planted)], options, host);
}

const isRepositoryFile = (file: string): boolean => path.basename(file) === 'repository.ts';
const isServiceFile = (file: string): boolean => path.basename(file) === 'service.ts';

/** A Database, by shape: a Queryable can run SQL, only a Database can also open scopes and transactions. */
function isDatabase(checker: ts.TypeChecker, type: ts.Type): boolean {
  const types = type.isUnion() ? type.types : [type];
  return types.some(
    (t) =>
      checker.getPropertyOfType(t, 'withTenant') !== undefined &&
      checker.getPropertyOfType(t, 'transaction') !== undefined,
  );
}

function declaredIn(checker: ts.TypeChecker, node: ts.Node): string | undefined {
  let symbol = checker.getSymbolAtLocation(node);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  return symbol?.declarations?.[0]?.getSourceFile().fileName;
}

/** Every place in `files` (and the planted files) where the rule is broken, as `file:line: what`. */
function databaseLeaks(program: ts.Program, scanned: (file: string) => boolean): string[] {
  const checker = program.getTypeChecker();
  const leaks: string[] = [];
  const where = (node: ts.Node): string => {
    const sf = node.getSourceFile();
    return `${path.relative(API_SRC, sf.fileName)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };
  for (const sf of program.getSourceFiles()) {
    if (!scanned(sf.fileName)) continue;
    const visit = (node: ts.Node): void => {
      // A repository constructed or called with a Database.
      if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && node.arguments) {
        const from = declaredIn(checker, node.expression);
        if (from && isRepositoryFile(from)) {
          for (const arg of node.arguments) {
            if (isDatabase(checker, checker.getTypeAtLocation(arg)))
              leaks.push(`${where(arg)}: ${node.expression.getText()} is handed a Database`);
          }
        }
      }
      // A service (or a repository) that takes a Database anywhere: constructor, method or function.
      if (ts.isParameter(node) && (isServiceFile(sf.fileName) || isRepositoryFile(sf.fileName))) {
        if (isDatabase(checker, checker.getTypeAtLocation(node)))
          leaks.push(`${where(node)}: parameter ${node.name.getText()} is a Database`);
      }
      // The domains' dependencies.
      if (ts.isInterfaceDeclaration(node) && node.name.text === 'DomainDeps') {
        for (const member of node.members) {
          if (ts.isPropertySignature(member) && isDatabase(checker, checker.getTypeAtLocation(member)))
            leaks.push(`${where(member)}: DomainDeps.${member.name.getText()} is a Database`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return leaks;
}

const PLANTED_DIR = path.join(API_SRC, 'planted-example');
const inApi = (file: string): boolean =>
  file.startsWith(API_SRC) && !file.startsWith(PLANTED_DIR) && !file.endsWith('.test.ts') && !file.endsWith('.d.ts');

describe('architecture: Scope is the only way from a service to the database', () => {
  const files = sourceFiles(API_SRC);
  const planted = path.join(PLANTED_DIR, 'service.ts');
  // Built once: parsing the API and the packages it imports is the expensive part.
  const program = createProgram(files, {
    [planted]: `
      import type { Database } from '@clutch/db';
      import { VehiclesRepository } from '../vehicles/repository.js';
      import { recordAudit } from '../audit/repository.js';

      type Db = Database;
      export class PlantedService {
        constructor(private readonly db: Db) {}
        exists(id: string): Promise<boolean> {
          return new VehiclesRepository(this.db).exists(id);
        }
        audit(): Promise<void> {
          return recordAudit(this.db, { actor: 'x', action: 'y' });
        }
      }
    `,
  });

  it('finds the api sources and the repositories it guards', () => {
    expect(files.filter(isRepositoryFile).length).toBeGreaterThan(10);
    expect(files.filter(isServiceFile).length).toBeGreaterThan(10);
  });

  it('fails on a planted service that hands a repository its Database', () => {
    const leaks = databaseLeaks(program, (f) => f === planted);
    expect(leaks).toEqual([
      expect.stringMatching(/^planted-example\/service\.ts:\d+: parameter db is a Database$/),
      expect.stringMatching(/^planted-example\/service\.ts:\d+: VehiclesRepository is handed a Database$/),
      expect.stringMatching(/^planted-example\/service\.ts:\d+: recordAudit is handed a Database$/),
    ]);
  });

  it('no repository in api/src is handed a raw Database, and no service or domain dependency takes one', () => {
    expect(databaseLeaks(program, inApi)).toEqual([]);
  });
});
