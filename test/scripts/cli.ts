// The command line from TypeScript sources (bin/unimrg.js runs the compiled dist/): for tests
// that need a real process, such as `unimrg train --nproc 2`.
import { main } from '../../lib/cli';

main(process.argv).then((code) => { process.exitCode = code; });
