import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOwnedParameter, parameterProblem, parameterProblems } from './pg-parameters.js';

test('owned names are recognised in any case, with every *_preload_libraries', () => {
  for (const n of ['archive_command', 'ARCHIVE_COMMAND', 'Archive_Command', 'shared_preload_libraries', 'Session_Preload_Libraries', 'x_preload_libraries', 'ssl_passphrase_command', 'dynamic_library_path', 'archive_library', 'restore_command', 'include_dir']) {
    assert.ok(isOwnedParameter(n), n);
  }
  for (const n of ['work_mem', 'myext.setting', 'shared_buffers', 'preload']) assert.ok(!isOwnedParameter(n), n);
});

test('names must be lower-case GUC names with at most one dot; values must not hold control characters', () => {
  assert.equal(parameterProblem('work_mem', '4MB'), null);
  assert.equal(parameterProblem('myext.setting', "it's \\ fine"), null);
  for (const n of ['Work_Mem', 'work-mem', 'work mem', 'a=b', 'a.b.c', '1abc', '', '.a', 'a.', 'a\n']) {
    assert.match(parameterProblem(n, 'x') ?? '', /invalid parameter name/, JSON.stringify(n));
  }
  for (const v of ['a\nb', 'a\rb', 'a\u0000', 'a\tb', '\u001b[31m', 'a\u007f']) {
    assert.match(parameterProblem('work_mem', v) ?? '', /control character/, JSON.stringify(v));
  }
  assert.deepEqual(parameterProblems({ work_mem: '1MB', PORT: '1' }), ['parameter PORT is managed by the operator; remove it from spec.postgresql.parameters']);
});
