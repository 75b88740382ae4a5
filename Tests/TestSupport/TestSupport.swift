// Test helpers: real redis-server processes and a tiny RESP client.
