/**
 * Registers every bundled hook and plugin in HOOKS. Imported by the commands that build hooks
 * from a config (train, hooks, replay), never by the CLI entry: loading them loads tfjs.
 */
import 'reflect-metadata';
import '../hooks/index.js';
import '../../plugins/index.js';
