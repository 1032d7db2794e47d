// API module: see docs/ARCHITECTURE.md
