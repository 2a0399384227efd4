"""Live state in Redis: connection, key names, queue board, agents' states and offers, call
state, lock-out."""
