import Testing

@testable import KeelJobs

@Suite struct JobStateTests {
    @Test func finishedStatesAndPriorityOrder() {
        #expect(JobState.allCases.filter(\.isFinished) == [.done, .failed, .cancelled])
        #expect(JobPriority.high.rank > JobPriority.normal.rank && JobPriority.normal.rank > JobPriority.low.rank)
    }
}
