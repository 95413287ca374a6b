package workerproc

// EnvTestPanic is envTestPanic for the tests.
const EnvTestPanic = envTestPanic
