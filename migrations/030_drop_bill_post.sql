-- 030_drop_bill_post: vas_bill_post (028) is called by nothing. Top-ups, refunds and lobby
-- captures went back to their four typed statements (a CALL there cost mariadbd more than the
-- 2-3 round trips it saved, measured A/B); only purchases call procedures (vas_purchase,
-- vas_purchase_charge, both through vas_ledger_post). A procedure nobody calls is one more
-- place for the ledger's rules to drift. Re-runnable.
DROP PROCEDURE IF EXISTS vas_bill_post;
