import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: '/work/main/prisma/postgres/schema.prisma',
  async adapter() { return new PrismaPg({ connectionString: process.env.DATABASE_URL! }); },
});
