"""xAPI statements: builders, validation, the outbox and the LRS client."""
