// The calls whose type-checking bench/codegen/run.sh times, on the inbox-zero schema, written once for both
// clients: run.sh puts a two-line header above them (`db` is ssot's generated `$Client`, or Prisma Client's
// `PrismaClient`). Field values that differ between the two (dates: strings in ssot, `Date` in Prisma) are left out.

export async function main(): Promise<void> {
  // findMany: a text filter and a to-many relation filter, a selection, an order, a page.
  const users = await db.user.findMany({
    where: { email: { contains: '@example.com' }, emailAccounts: { some: { name: { not: null } } } },
    select: { id: true, email: true, name: true },
    orderBy: { createdAt: 'desc' },
    take: 20,
  });
  for (const u of users) console.log(u.id, u.email.toLowerCase(), u.name ?? '');

  // findMany: includes, a to-one and a to-many with its own filter, order and page.
  const accounts = await db.emailAccount.findMany({
    where: { userId: users[0]?.id ?? '' },
    include: { user: true, rules: { where: { enabled: true }, orderBy: { name: 'asc' }, take: 5 } },
  });
  for (const a of accounts) for (const r of a.rules) console.log(a.user?.email, r.name, r.enabled);

  // findMany: OR, an enum filter through a relation, nested selections.
  const rules = await db.rule.findMany({
    where: { OR: [{ enabled: true }, { actions: { some: { type: 'LABEL' } } }] },
    select: { id: true, name: true, emailAccount: { select: { email: true } }, actions: { select: { type: true, label: true } } },
  });
  for (const r of rules) console.log(r.id, r.emailAccount?.email, r.actions.length);

  // findMany: includes two levels deep.
  const withActions = await db.rule.findMany({
    where: { emailAccountId: 'ea1', name: { startsWith: 'News' } },
    include: { actions: true, emailAccount: { include: { user: true } } },
  });
  for (const r of withActions) for (const x of r.actions) console.log(r.emailAccount?.user?.email, x.type, x.label);

  // create: a relation connected, a selection.
  const created = await db.rule.create({
    data: { name: 'Newsletters', instructions: 'Archive newsletters', emailAccount: { connect: { id: 'ea1' } } },
    select: { id: true, name: true },
  });

  // update: by id, with an include.
  const updated = await db.rule.update({
    where: { id: created.id },
    data: { enabled: false, name: `${created.name} (off)` },
    include: { actions: true },
  });
  console.log(updated.enabled, updated.actions.length);
}
