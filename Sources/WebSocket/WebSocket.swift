// WebSocket module: see docs/ARCHITECTURE.md
