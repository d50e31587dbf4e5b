-- The customer may tell the shop to go on when it waits for them (waiting_customer -> in_progress,
-- POST /api/repair-orders/:id/resume); api/src/repair-orders/lifecycle.ts says the same and
-- lifecycle.test.ts keeps the two equal.
UPDATE repair_order_transitions
   SET sides = ARRAY['shop', 'customer']
 WHERE from_status = 'waiting_customer' AND to_status = 'in_progress';
