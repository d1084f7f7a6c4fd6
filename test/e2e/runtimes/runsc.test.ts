// gVisor runsc (--platform=ptrace --oci-seccomp): the sentry enforces linux.seccomp inside the
// sandbox, so the runsc layer is empty (profiles/runtimes/runsc.json): a profile built with
// --runtime none starts the container too.
import {describe, expect, it} from 'vitest'
import {makeBundle, runBundle, setBundleSeccomp, unavailable} from '../../helpers/bundle.js'
import {bundleRuntimeSuite} from '../../helpers/runtime-suite.js'

bundleRuntimeSuite('runsc', [true, false], {true: true, false: true})

// A fact about this runsc that profiles must live with: it ignores errnoRet and answers every
// ERRNO rule with EPERM, so an ENOSYS fallback rule (clone3, faccessat2, statx…) reaches the
// program as EPERM, and libc does not fall back (a static glibc pthread_create fails). runc
// returns the ENOSYS the rule asks for. If a runsc update starts honouring errnoRet, this fails.
describe.skipIf(unavailable('runsc') !== undefined || unavailable('runc') !== undefined)('runsc and errnoRet', () => {
  it('answers an ERRNO(ENOSYS) rule with EPERM where runc returns ENOSYS', async () => {
    const b = makeBundle({args: ['sh', '-c', 'mkdir /tmp/d']})
    try {
      setBundleSeccomp(b.configPath, {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 38}]})
      const runc = await runBundle('runc', b.dir)
      expect(runc.stderr).toMatch(/Function not implemented/)
      const runsc = await runBundle('runsc', b.dir)
      expect(runsc.stderr).toMatch(/Operation not permitted/)
    } finally {
      b.cleanup()
    }
  })
})
