import { adminQuery } from './pg';

export default async function globalTeardown(): Promise<void> {
  const template = process.env.VIWORKS_TEST_TEMPLATE_DB;
  if (template) await adminQuery(`DROP DATABASE IF EXISTS ${template}`).catch(() => undefined);
}
