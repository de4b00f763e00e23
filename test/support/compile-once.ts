import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');

/**
 * Compiles `files` to JavaScript under `out` (paths kept relative to the project), as `npm run build` would:
 * TypeScript's own emit, file by file (type checking is `npm run typecheck`'s job), with `copies` (folders of the
 * project, such as the migrations) copied beside. Done once per `out`: into a temporary folder renamed at the end, so
 * two test processes compiling at once never see half a tree.
 */
export function compileOnce(out: string, files: string[], copies: string[]): void {
  const temp = `${out}.${process.pid}.tmp`;
  mkdirSync(dirname(out), { recursive: true });
  rmSync(temp, { recursive: true, force: true });
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: false, declaration: false, noEmit: false };
  for (const file of files) {
    if (!file.endsWith('.ts')) continue;
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
    const target = join(temp, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  for (const folder of copies) cpSync(join(ROOT, folder), join(temp, folder), { recursive: true });
  if (existsSync(out)) rmSync(temp, { recursive: true, force: true });
  else renameSync(temp, out);
}
