"""Reliable messaging over NATS JetStream: transactional outbox, inbox, dead letters."""
