import Foundation
import KeelStore

extension AuditEventRecord {
    /// An audit event naming `principal` as the actor, with its client address and request id.
    public init(by principal: Principal, action: String, target: String, before: String? = nil, after: String? = nil, at: Date = Date()) {
        self.init(actor: principal.actor, action: action, target: target, before: before, after: after, at: at,
                  address: principal.address, requestID: principal.requestID)
    }
}
