/**
 * Prisma CLI configuration for the PostgreSQL schema (prisma/postgres/schema.prisma, generated from
 * prisma/schema.prisma by scripts/prisma-generate.sh). `prisma migrate` cannot run against PostgreSQL
 * here (prisma/orm#27403), so its migrations are made with `prisma migrate diff` (see prisma/README.md)
 * and applied by the server itself (src/host/db/migrate.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

const here = path.dirname(fileURLToPath(import.meta.url));
process.env.DATABASE_URL ??= 'postgresql://labvisor@127.0.0.1:55432/postgres';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(here, 'schema.prisma'),
  async adapter() {
    return new PrismaPg({ connectionString: process.env.DATABASE_URL! });
  },
});
