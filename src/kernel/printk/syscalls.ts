/**
 * The printk subsystem's system calls, and its device: importing this table (the system-call
 * table does) registers /dev/kmsg, as the initcall that adds mem.c's "kmsg" minor would.
 */
import { kmsgInit } from '../drivers/kmsg.js';
import { printkSyscalls } from './syslog.js';

kmsgInit();

export { printkSyscalls };
