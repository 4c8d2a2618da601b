/** Temporary sd-tiny folders for the ONNX tests, under the OS temp folder; removed by cleanup(). */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSdTinyFolder, type SdTinyOptions } from '../../fixtures/sd-tiny.ts';

export function tmpFolders() {
  let root: string | null = null;
  let n = 0;
  const base = async () => (root ??= await mkdtemp(join(tmpdir(), 'amdm-onnx-')));
  return {
    /** A fresh folder path (not created). */
    async path(name = 'dir'): Promise<string> {
      return join(await base(), `${name}-${n++}`);
    },
    /** Write an sd-tiny folder and return its path. */
    async sdTiny(opts: SdTinyOptions = {}): Promise<string> {
      return writeSdTinyFolder(join(await base(), `sd-tiny-${n++}`), opts);
    },
    /** A folder for job files, holding models/a (sd-tiny, seed 1) and models/b (seed 2); returns its path. */
    async jobFolder(): Promise<string> {
      const work = join(await base(), `work-${n++}`);
      await mkdir(join(work, 'models'), { recursive: true });
      await writeSdTinyFolder(join(work, 'models/a'), { seed: 1 });
      await writeSdTinyFolder(join(work, 'models/b'), { seed: 2 });
      return work;
    },
    async cleanup(): Promise<void> {
      if (root) await rm(root, { recursive: true, force: true });
      root = null;
    },
  };
}
