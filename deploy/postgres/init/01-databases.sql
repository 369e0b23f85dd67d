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

CREATE ROLE referrals_agenzia_casa_sudest LOGIN PASSWORD 'referrals_agenzia_casa_sudest';
CREATE DATABASE referrals_agenzia_casa_sudest OWNER referrals_agenzia_casa_sudest;
REVOKE CONNECT ON DATABASE referrals_agenzia_casa_sudest FROM PUBLIC;

CREATE ROLE referrals_csl_lavoro LOGIN PASSWORD 'referrals_csl_lavoro';
CREATE DATABASE referrals_csl_lavoro OWNER referrals_csl_lavoro;
REVOKE CONNECT ON DATABASE referrals_csl_lavoro FROM PUBLIC;

CREATE ROLE referrals_pioltello_casa LOGIN PASSWORD 'referrals_pioltello_casa';
CREATE DATABASE referrals_pioltello_casa OWNER referrals_pioltello_casa;
REVOKE CONNECT ON DATABASE referrals_pioltello_casa FROM PUBLIC;

CREATE ROLE referrals_pioltello_scuola LOGIN PASSWORD 'referrals_pioltello_scuola';
CREATE DATABASE referrals_pioltello_scuola OWNER referrals_pioltello_scuola;
REVOKE CONNECT ON DATABASE referrals_pioltello_scuola FROM PUBLIC;

CREATE ROLE referrals_pioltello_stranieri LOGIN PASSWORD 'referrals_pioltello_stranieri';
CREATE DATABASE referrals_pioltello_stranieri OWNER referrals_pioltello_stranieri;
REVOKE CONNECT ON DATABASE referrals_pioltello_stranieri FROM PUBLIC;

CREATE ROLE referrals_prefettura_mediazione LOGIN PASSWORD 'referrals_prefettura_mediazione';
CREATE DATABASE referrals_prefettura_mediazione OWNER referrals_prefettura_mediazione;
REVOKE CONNECT ON DATABASE referrals_prefettura_mediazione FROM PUBLIC;
