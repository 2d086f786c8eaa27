import { helpLines } from '../../core/commands/usage.js';
import { listReply, type Handler } from './handler.js';

export const help: Handler<'help'> = async (_env, cmd) => {
  const { title, lines } = helpLines(cmd.topic);
  return listReply(title, cmd.topic ? lines : [...lines, 'Words are case-insensitive. "help <command>" shows more about one.']);
};
