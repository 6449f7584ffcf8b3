// Placeholder until this component lands: refuses to run rather than pretend.
export async function run(_args: string[]): Promise<number> {
  process.stderr.write('stockify: this command is not implemented yet\n');
  return 2;
}
