"""Runtime library shared by every shopstack function: errors, HTTP problems, events,
configuration, idempotency, ids and money. It holds no service's domain logic."""
