// A relation's arguments with both `where` and `include`, in an include (checked by run.sh with each TypeScript
// version, not timed): `a[0]!.rules[0]!.actions` must be typed.
export async function main(): Promise<void> {
  const a = await db.emailAccount.findMany({ include: { rules: { where: { enabled: true }, include: { actions: true } } } });
  console.log(a[0]?.rules[0]?.actions.length);
}
