-- One database per service, each owned by its own role: no service can read another's.
-- Runs once, when the PostgreSQL volume is created (docker-entrypoint-initdb.d).
-- Development passwords: production takes them from a secret store.

CREATE ROLE notifications LOGIN PASSWORD 'notifications';
CREATE DATABASE notifications OWNER notifications;
REVOKE CONNECT ON DATABASE notifications FROM PUBLIC;

CREATE ROLE audit LOGIN PASSWORD 'audit';
CREATE DATABASE audit OWNER audit;
REVOKE CONNECT ON DATABASE audit FROM PUBLIC;

CREATE ROLE referrals_pioltello_sociali LOGIN PASSWORD 'referrals_pioltello_sociali';
CREATE DATABASE referrals_pioltello_sociali OWNER referrals_pioltello_sociali;
REVOKE CONNECT ON DATABASE referrals_pioltello_sociali FROM PUBLIC;

CREATE ROLE referrals_cpia2 LOGIN PASSWORD 'referrals_cpia2';
CREATE DATABASE referrals_cpia2 OWNER referrals_cpia2;
REVOKE CONNECT ON DATABASE referrals_cpia2 FROM PUBLIC;

CREATE ROLE referrals_coop_abitare LOGIN PASSWORD 'referrals_coop_abitare';
CREATE DATABASE referrals_coop_abitare OWNER referrals_coop_abitare;
REVOKE CONNECT ON DATABASE referrals_coop_abitare FROM PUBLIC;
