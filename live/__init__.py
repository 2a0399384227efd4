"""Live state in Redis: connection, key names, queue board, presence, call state, lock-out."""
