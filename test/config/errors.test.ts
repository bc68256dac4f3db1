import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePipeline } from '../../src/config/index.js';

/** [path, line, column, message must match]. Every case lists ALL its errors. */
type Expect = [string, number, number, RegExp];
const cases: { name: string; yaml: string; errors: Expect[]; predefined?: Record<string, string> }[] = [
  {
    name: 'YAML syntax error',
    yaml: 'a:\n  script: [x\nb: 1\n',
    errors: [['', 3, 1, /^YAML syntax error: /]],
  },
  {
    name: 'duplicate key (a warning, as GitLab reads it; the rest is still checked)',
    yaml: 'a:\n  script: x\n  script: y\n  stage: nope\n',
    errors: [['a.stage', 4, 10, /stage 'nope' is not defined in stages \(\.pre, build, test, deploy, \.post\)/]],
  },
  {
    name: 'unknown job key with did-you-mean',
    yaml: 'build:\n  scirpt: make\n  script: make\n',
    errors: [['build.scirpt', 2, 3, /^build\.scirpt: unknown key 'scirpt'; did you mean 'script'\?$/]],
  },
  {
    name: 'wrong type',
    yaml: 'build:\n  script: 42\n',
    errors: [['build.script', 2, 11, /^build\.script: expected a string or a list of strings, got a number \(42\)$/]],
  },
  {
    name: 'wrong type inside a list',
    yaml: 'build:\n  script:\n    - ok\n    - {a: 1}\n',
    errors: [['build.script[1]', 4, 7, /expected a string \(a shell command\), got a map/]],
  },
  {
    name: 'missing script',
    yaml: 'stages: [build]\n\nbuild:\n  stage: build\n',
    errors: [['build.script', 3, 1, /script is required/]],
  },
  {
    name: 'undefined stage',
    yaml: 'stages: [build, test]\nj:\n  stage: tset\n  script: x\n',
    errors: [['j.stage', 3, 10, /stage 'tset' is not defined in stages .*did you mean 'test'\?/]],
  },
  {
    name: 'default stage test missing from stages',
    yaml: 'stages: [build]\nj:\n  script: x\n',
    errors: [['j.stage', 2, 1, /default stage 'test' is not defined/]],
  },
  {
    name: 'needs on a missing job',
    yaml: 'build:\n  script: x\ntest:\n  script: x\n  needs: [biuld]\n',
    errors: [['test.needs[0]', 5, 11, /needs 'biuld', but there is no job with that name; did you mean 'build'\?/]],
  },
  {
    name: 'needs on a job excluded by rules',
    yaml: 'a:\n  script: x\n  rules:\n    - if: $DEPLOY\nb:\n  script: x\n  needs:\n    - job: a\n',
    errors: [['b.needs[0]', 8, 12, /not in this pipeline .*optional: true/]],
  },
  {
    name: 'needs on a hidden template',
    yaml: '.t:\n  script: x\nb:\n  script: x\n  needs: [.t]\n',
    errors: [['b.needs[0]', 5, 11, /hidden template/]],
  },
  {
    name: 'needs cycle is named',
    yaml: 'a:\n  script: x\n  needs: [c]\nb:\n  script: x\n  needs: [a]\nc:\n  script: x\n  needs: [b]\n',
    errors: [['b.needs[0]', 6, 11, /^b\.needs\[0\]: needs cycle: a → c → b → a$/]],
  },
  {
    name: 'self need is a cycle',
    yaml: 'a:\n  script: x\n  needs: [a]\n',
    errors: [['a.needs[0]', 3, 11, /needs cycle: a → a/]],
  },
  {
    name: 'needs on a job in a later stage',
    yaml: 'a:\n  stage: build\n  script: x\n  needs: [b]\nb:\n  stage: deploy\n  script: x\n',
    errors: [['a.needs[0]', 4, 11, /'b' is in stage 'deploy', which runs after this job's stage 'build'/]],
  },
  {
    name: 'job named like a reserved keyword',
    yaml: 'variables:\n  script: x\ncache:\n  script: y\nok:\n  script: z\n',
    errors: [['cache', 3, 1, /'cache' is a reserved keyword and cannot be used as a job name/]],
  },
  {
    name: 'true/false/nil are reserved',
    yaml: '"true":\n  script: y\nok:\n  script: z\n',
    errors: [['true', 1, 1, /'true' is a reserved keyword/]],
  },
  {
    name: 'unknown top-level keyword with did-you-mean',
    yaml: 'stagse: [a]\nj:\n  script: x\n',
    errors: [['stagse', 1, 1, /unknown keyword 'stagse'; did you mean 'stages'\?/]],
  },
  {
    name: 'top-level scalar that is not a keyword',
    yaml: 'foo: bar\nj:\n  script: x\n',
    errors: [['foo', 1, 1, /neither a keyword nor a job/]],
  },
  {
    name: 'empty configuration',
    yaml: '# nothing\n',
    errors: [['', 1, 1, /configuration is empty/]],
  },
  {
    name: 'no jobs, only templates',
    yaml: '.t:\n  script: x\n',
    errors: [['', 1, 1, /defines no jobs/]],
  },
  {
    name: 'empty pipeline after rules',
    yaml: 'a:\n  script: x\n  rules:\n    - if: $NOPE\n',
    errors: [['', 1, 1, /pipeline would be empty/]],
  },
  {
    name: 'workflow rules match nothing',
    yaml: 'workflow:\n  rules:\n    - if: $CI_COMMIT_TAG\na:\n  script: x\n',
    errors: [['workflow.rules', 3, 5, /no workflow: rules: entry matched/]],
  },
  {
    name: 'extends: missing parent and cycle',
    yaml: '.a:\n  extends: .b\n.b:\n  extends: .a\nj:\n  extends: [.a, .missing]\n  script: x\n',
    errors: [
      ['.b.extends', 4, 12, /extends cycle: \.a → \.b → \.a/],
      ['j.extends', 6, 17, /no job or template named '\.missing'/],
    ],
  },
  {
    name: '!reference to something missing',
    yaml: '.s:\n  script: [a]\nj:\n  script: !reference [.s, scrip]\n',
    errors: [['', 4, 22, /^!reference \[\.s, scrip\]: '\.s' has no key 'scrip'$/]],
  },
  {
    name: 'bad enum values with did-you-mean',
    yaml: 'a:\n  script: x\n  when: on_sucess\n  interruptible: yes\n',
    errors: [
      [
        'a.when',
        3,
        9,
        /expected one of on_success, on_failure, always, manual, never, delayed, got the string "on_sucess"; did you mean 'on_success'\?/,
      ],
      ['a.interruptible', 4, 18, /expected true, false or graceful, got the string "yes"/],
    ],
  },
  {
    name: 'manual: contradicting when:',
    yaml: 'a:\n  script: x\n  when: always\n  manual: required\n',
    errors: [['a.manual', 4, 11, /manual: makes the job manual, but it also says when: always/]],
  },
  {
    name: 'allow_failure and on_status disagree',
    yaml: 'a:\n  script: x\n  allow_failure: true\n  on_status:\n    failure: fail_pipeline\nb:\n  script: x\n  allow_failure: {exit_codes: [3]}\n  on_status:\n    exit_codes:\n      3: pass_pipeline\n',
    errors: [
      ['a.on_status.failure', 5, 14, /allow_failure: true means failure: warn, but on_status says failure: fail_pipeline/],
      ['b.on_status.exit_codes.3', 11, 10, /exit code 3 a warning, but on_status says pass_pipeline/],
    ],
  },
  {
    name: 'retry: out of range and unknown reason',
    yaml: 'a:\n  script: x\n  retry: 11\nb:\n  script: x\n  retry:\n    max: 1\n    when: [script_failure, infra]\n    whne: always\n',
    errors: [
      ['a.retry', 3, 10, /retry must be between 0 and 10/],
      ['b.retry.when[1]', 8, 28, /"infra"/],
      ['b.retry.whne', 9, 5, /unknown key 'whne'; did you mean 'when'\?/],
    ],
  },
  {
    name: 'bad durations',
    yaml: 'a:\n  script: x\n  timeout: 1 fortnight\n  after_script_timeout: 0\n',
    errors: [
      ['a.timeout', 3, 12, /unknown time unit 'fortnight'/],
      ['a.after_script_timeout', 4, 25, /longer than zero/],
    ],
  },
  {
    name: 'bad rules if expression',
    yaml: 'a:\n  script: x\n  rules:\n    - if: $A == "x" &&\n    - if: $A =~ /(/\n',
    errors: [
      ['a.rules[0].if', 4, 11, /expression ends too early/],
      ['a.rules[1].if', 5, 11, /invalid regular expression/],
    ],
  },
  {
    name: 'image and needs shapes',
    yaml: 'a:\n  script: x\n  image: {name: alpine, pull_policy: sometimes}\n  needs: [{job: b, optionl: true}]\nb:\n  script: x\n',
    errors: [
      ['a.image.pull_policy', 3, 38, /expected one of always, if-not-present, never, got the string "sometimes"/],
      ['a.needs[0].optionl', 4, 20, /unknown key 'optionl'; did you mean 'optional'\?/],
    ],
  },
  {
    name: 'variables shapes',
    yaml: 'variables:\n  OK: 1\n  BAD: [1]\n  "no-dash": x\nj:\n  script: x\n  variables:\n    M: {value: v, masked: "yes"}\n',
    errors: [
      ['variables.BAD', 3, 8, /expected a string or a map with value:, got a list/],
      ['variables.no-dash', 4, 14, /not a valid variable name/],
      ['j.variables.M.masked', 8, 27, /expected true or false/],
    ],
  },
  {
    name: 'every problem is collected, sorted by position',
    yaml: 'stages: [build]\na:\n  stage: build\n  script: 1\n  tags: [1]\nb:\n  stage: build\n  foo: bar\n',
    errors: [
      ['a.script', 4, 11, /expected a string or a list of strings/],
      ['a.tags[0]', 5, 10, /expected a string, got a number \(1\)/],
      ['b.script', 6, 1, /script is required/],
      ['b.foo', 8, 3, /unknown key 'foo'/],
    ],
  },
  {
    name: 'error inherited from a template is reported once, at the template',
    yaml: '.t:\n  timeout: forever\na:\n  extends: .t\n  script: x\nb:\n  extends: .t\n  script: x\n',
    errors: [['a.timeout', 2, 12, /cannot read "forever" as a duration/]],
  },
];

describe('config errors carry exact positions', () => {
  for (const c of cases) {
    test(c.name, () => {
      const r = compilePipeline(c.yaml, { predefined: c.predefined ?? {} });
      assert.equal(r.ok, false, 'expected the configuration to be rejected');
      assert.ok(!r.ok);
      const got = r.errors.map((e) => `${e.path} @${e.line}:${e.column} ${e.message}`);
      assert.equal(r.errors.length, c.errors.length, `errors:\n${got.join('\n')}`);
      c.errors.forEach(([path, line, column, re], i) => {
        const e = r.errors[i]!;
        assert.deepEqual([e.path, e.line, e.column], [path, line, column], `error ${i}: ${got[i]}`);
        assert.match(e.message, re, `error ${i}: ${got[i]}`);
      });
    });
  }
});
