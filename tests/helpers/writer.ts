export { RowWriter, missingAcked, type WriterReport } from '../../adapters/sql/row-writer.js';
