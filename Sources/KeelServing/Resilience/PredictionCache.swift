import CoreMetrics
import KeelCore
import Synchronization

/// A served version's answers by the canonical bytes of their inputs (`CacheKey`): least
/// recently used first out, bounded by entry count and by bytes, each answer fresh for the
/// configured TTL. Only successful answers are stored. `ModelManager` empties it whenever the
/// model's set of versions or aliases changes.
public final class PredictionCache: Sendable {
    public let settings: PredictionCacheSettings
    private let lru: Mutex<LRU>
    private let hits: CoreMetrics.Counter?
    private let misses: CoreMetrics.Counter?

    init(settings: PredictionCacheSettings, hits: CoreMetrics.Counter? = nil, misses: CoreMetrics.Counter? = nil) {
        self.settings = settings
        self.hits = hits
        self.misses = misses
        lru = Mutex(LRU())
    }

    /// Largest key or entry stored: a sixteenth of the byte budget, so one large request can
    /// never push out the whole cache (and its key is not even built).
    public var maxEntryBytes: Int { max(settings.maxBytes / 16, 1) }

    /// Entries held now.
    public var count: Int { lru.withLock { $0.index.count } }

    /// Bytes held now (the estimate the byte cap is checked against).
    public var bytes: Int { lru.withLock { $0.bytes } }

    /// The key of `inputs`, or nil when it would be larger than one entry may be.
    func key(_ inputs: [String: Tensor]) -> CacheKey? {
        CacheKey(inputs, limit: maxEntryBytes)
    }

    /// The fresh answer stored under `key`, counted as a hit or a miss.
    func lookup(_ key: CacheKey, now: ContinuousClock.Instant = .now) -> [String: Tensor]? {
        let found = lru.withLock { $0.get(key, now: now) }
        if found != nil { hits?.increment() } else { misses?.increment() }
        return found
    }

    /// Stores an answer, evicting the least recently used entries beyond the bounds.
    func store(_ key: CacheKey, _ outputs: [String: Tensor], now: ContinuousClock.Instant = .now) {
        let size = key.bytes.count + Self.size(outputs)
        guard size <= maxEntryBytes else { return }
        let s = settings
        lru.withLock { $0.put(key, outputs, size: size, expires: now + s.ttl, maxEntries: s.maxEntries, maxBytes: s.maxBytes) }
    }

    /// Drops every entry.
    public func removeAll() {
        lru.withLock { $0 = LRU() }
    }

    /// Estimated bytes of an answer: its elements plus a fixed overhead per tensor.
    static func size(_ outputs: [String: Tensor]) -> Int {
        var n = 64
        for (name, t) in outputs {
            n += 96 + name.utf8.count + t.shape.count * 8
            if case .bytes(let items) = t.data {
                for item in items { n += 16 + item.count }
            } else {
                n += t.count * (t.dataType.byteWidth ?? 8)
            }
        }
        return n
    }

    /// A doubly linked list over slots of one array (most recent at `head`), indexed by key.
    private struct LRU {
        struct Node {
            var key: CacheKey
            var outputs: [String: Tensor]
            var size: Int
            var expires: ContinuousClock.Instant
            var previous = -1
            var next = -1
        }

        var index: [CacheKey: Int] = [:]
        var nodes: [Node] = []
        var free: [Int] = []
        var head = -1
        var tail = -1
        var bytes = 0

        mutating func get(_ key: CacheKey, now: ContinuousClock.Instant) -> [String: Tensor]? {
            guard let slot = index[key] else { return nil }
            guard nodes[slot].expires > now else {
                remove(slot)
                return nil
            }
            unlink(slot)
            pushFront(slot)
            return nodes[slot].outputs
        }

        mutating func put(_ key: CacheKey, _ outputs: [String: Tensor], size: Int, expires: ContinuousClock.Instant, maxEntries: Int, maxBytes: Int) {
            if let slot = index[key] { remove(slot) }
            while tail >= 0, index.count >= maxEntries || bytes + size > maxBytes { remove(tail) }
            let node = Node(key: key, outputs: outputs, size: size, expires: expires)
            let slot: Int
            if let reused = free.popLast() {
                nodes[reused] = node
                slot = reused
            } else {
                nodes.append(node)
                slot = nodes.count - 1
            }
            index[key] = slot
            bytes += size
            pushFront(slot)
        }

        private mutating func remove(_ slot: Int) {
            unlink(slot)
            index[nodes[slot].key] = nil
            bytes -= nodes[slot].size
            // Release the answer's storage now; the slot is reused by the next insert.
            nodes[slot].outputs = [:]
            nodes[slot].key = CacheKey(bytes: [])
            free.append(slot)
        }

        private mutating func unlink(_ slot: Int) {
            let (p, n) = (nodes[slot].previous, nodes[slot].next)
            if p >= 0 { nodes[p].next = n } else { head = n }
            if n >= 0 { nodes[n].previous = p } else { tail = p }
            nodes[slot].previous = -1
            nodes[slot].next = -1
        }

        private mutating func pushFront(_ slot: Int) {
            nodes[slot].next = head
            nodes[slot].previous = -1
            if head >= 0 { nodes[head].previous = slot }
            head = slot
            if tail < 0 { tail = slot }
        }
    }
}
