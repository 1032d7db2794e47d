// JSON module: see docs/ARCHITECTURE.md
