"""The ledger is append-only in the database itself, not only by convention.

- No DELETE on payments_transaction or payments_transactionstatuschange, ever.
- On UPDATE of a ledger row, money facts are frozen: amount, source, created_at, reverses, and
  every natural id once set (TransID, receipt, CheckoutRequestID); the member once set.
- Status moves only forward: pending -> verified/failed/unmatched, unmatched -> verified,
  failed -> verified (a late STK success found by the reconciler), verified -> reversed.
- The status-change audit rows are never updated.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION payments_transaction_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'payments_transaction is append-only: rows are never deleted (id %)', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.amount IS DISTINCT FROM OLD.amount OR NEW.source IS DISTINCT FROM OLD.source
       OR NEW.created_at IS DISTINCT FROM OLD.created_at OR NEW.reverses_id IS DISTINCT FROM OLD.reverses_id
       OR (OLD.transaction_id IS NOT NULL AND NEW.transaction_id IS DISTINCT FROM OLD.transaction_id)
       OR (OLD.mpesa_receipt IS NOT NULL AND NEW.mpesa_receipt IS DISTINCT FROM OLD.mpesa_receipt)
       OR (OLD.checkout_request_id IS NOT NULL AND NEW.checkout_request_id IS DISTINCT FROM OLD.checkout_request_id)
       OR (OLD.user_id IS NOT NULL AND NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        RAISE EXCEPTION 'payments_transaction % : money facts are immutable', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
           (OLD.status = 'pending' AND NEW.status IN ('verified', 'failed', 'unmatched'))
        OR (OLD.status = 'unmatched' AND NEW.status = 'verified')
        OR (OLD.status = 'failed' AND NEW.status = 'verified')
        OR (OLD.status = 'verified' AND NEW.status = 'reversed')) THEN
        RAISE EXCEPTION 'payments_transaction % : status % -> % is not allowed', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payments_transaction_append_only
    BEFORE UPDATE OR DELETE ON payments_transaction
    FOR EACH ROW EXECUTE FUNCTION payments_transaction_guard();

CREATE OR REPLACE FUNCTION payments_audit_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payments_status_change_append_only
    BEFORE UPDATE OR DELETE ON payments_transactionstatuschange
    FOR EACH ROW EXECUTE FUNCTION payments_audit_guard();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS payments_status_change_append_only ON payments_transactionstatuschange;
DROP TRIGGER IF EXISTS payments_transaction_append_only ON payments_transaction;
DROP FUNCTION IF EXISTS payments_audit_guard();
DROP FUNCTION IF EXISTS payments_transaction_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_ledger_inbox_secrets")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
