// RedisClient module: see docs/ARCHITECTURE.md
