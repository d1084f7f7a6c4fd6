// gVisor runsc (--platform=ptrace --oci-seccomp): the sentry enforces linux.seccomp inside the
// sandbox, so the runsc layer is empty (profiles/runtimes/runsc.json): a profile built with
// --runtime none starts the container too.
import {bundleRuntimeSuite} from '../helpers/runtime-suite.js'

bundleRuntimeSuite('runsc', [true, false], {true: true, false: true})
