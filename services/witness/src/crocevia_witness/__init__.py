"""A witness of Crocevia's audit trail (c2sp.org/tlog-witness): run by another party, it
cosigns a checkpoint of the trail only when it extends the checkpoint it cosigned before."""
