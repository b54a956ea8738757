/** The stage-event journal: write (`attachJournal`), read (`readJournal`), replay. */
export * from './journal-format.js';
export * from './journal-writer.js';
export * from './journal-reader.js';
export * from './replay.js';
