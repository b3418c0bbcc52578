// Writes the shared bandit datasets into data/ (seeded: running it again gives identical files).
//
//   npm run generate-data                          the committed files
//   npm run generate-data -- --keep-desirable 0.1  KTO file with 90% of desirable examples dropped
//   npm run generate-data -- --out DIR             somewhere else
import * as fs from "fs";
import * as path from "path";
import { generateBanditData } from "../src/bandit/generate";

function main(): void {
  const args = process.argv.slice(2);
  let out = path.resolve(__dirname, "..", "data");
  let keepDesirable: number | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out") out = path.resolve(args[++i] ?? "");
    else if (args[i] === "--keep-desirable") keepDesirable = Number(args[++i]);
    else {
      console.error(`unknown argument ${args[i]}\nusage: generate-data.ts [--out DIR] [--keep-desirable FRACTION]`);
      process.exit(2);
    }
  }
  fs.mkdirSync(out, { recursive: true });
  for (const [name, text] of generateBanditData({ keepDesirable })) {
    fs.writeFileSync(path.join(out, name), text);
    const lines = text.trimEnd().split("\n").length;
    console.log(
      `wrote ${path.relative(process.cwd(), path.join(out, name))} (${text.length} bytes${name.endsWith(".jsonl") ? `, ${lines - 1} examples` : ""})`,
    );
  }
}

main();
