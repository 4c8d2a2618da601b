/**
 * `amdm export <family> --from <checkpoint> --out <folder> [--fp16] [--base <sd folder>] …`: the
 * flags of the export (src/jobs/export-checkpoint.ts runs the Python exporter into the output
 * folder). Options the command does not know (a family's own, e.g. `--dynamic-size`) go to the
 * exporter unchanged.
 */
import { relative } from 'node:path';
import { Command, Option } from 'commander';
import { EXPORT_FAMILIES, runExport, type ExportOptions } from '../jobs/export-checkpoint.ts';

/** The `export` command for `amdm`'s program. */
export function exportCommand(): Command {
  return new Command('export')
    .description(
      'turn a real checkpoint (diffusers SD-1.x folder, IP-Adapter, InteractDiffusion, MIGC) into a model folder (runs the Python exporter in .venv; see docs/real-models.md)',
    )
    .argument('<family>', EXPORT_FAMILIES.join(', '))
    .requiredOption('--from <checkpoint>', 'the checkpoint: a file or folder (see docs/real-models.md)')
    .requiredOption('--out <folder>', 'the model folder to write (replaced as a whole)')
    .option('--fp16', 'store the weights as float16 (inputs, outputs and arithmetic stay float32)')
    .option('--base <folder>', 'the diffusers SD-1.x folder an adapter applies to (ipadapter, migc)')
    .addOption(
      new Option('--external-data <mode>', 'weights beside each graph in model.onnx_data').choices([
        'auto',
        'always',
        'never',
      ]),
    )
    .addHelpText(
      'after',
      "\nA family's own options go to its exporter: sd --dynamic-size; ipadapter --image-encoder <folder>, --dynamic-size.\n" +
        "All of a family's options: .venv/bin/python -m amdm_tools.export <family> --help (with PYTHONPATH=python).",
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (family: string, opts: ExportOptions, cmd: Command) => {
      const path = await runExport(family, opts, cmd.args.slice(1));
      console.log(`wrote ${relative(process.cwd(), path) || '.'}`);
    });
}
