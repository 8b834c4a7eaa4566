export { RowWriter, missingAcked, acksOnOldPrimaryAfterPromotion, type WriterReport } from '../../adapters/sql/row-writer.js';
