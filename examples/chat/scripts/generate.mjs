// Writes the chat's typed client and React hooks (app/src/ssot/, not committed) with `ssot generate --target react`.
import { generate } from './ssot.mjs';
generate();
