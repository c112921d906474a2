/**
 * Prisma CLI configuration (prisma generate / migrate dev / migrate diff). The server itself
 * applies migrations at start (src/host/db/migrate.ts) and never runs the CLI.
 */
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';

process.env.DATABASE_URL ??= 'file:' + path.resolve('.data/dev.db');

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  async adapter() {
    return new PrismaBetterSQLite3({ url: process.env.DATABASE_URL! });
  },
});
