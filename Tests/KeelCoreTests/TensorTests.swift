import KeelCore
import Testing

/// Tensor construction, signatures, row gathering and FP16 conversion.
@Suite struct TensorTests {
    @Test func shapeMustMatchElementCount() {
        #expect(throws: KeelError.invalidInput("shape [2,2] needs 4 elements, got 3")) {
            try Tensor(shape: [2, 2], data: .fp32([1, 2, 3]))
        }
        #expect(throws: KeelError.self) { try Tensor(shape: [-1], data: .fp32([])) }
        #expect(throws: Never.self) { try Tensor(shape: [], data: .int64([7])) }
    }

    @Test func signatureAcceptsVariableDimensions() throws {
        let sig = TensorSignature(name: "input", dataType: .fp32, shape: [-1, 3])
        #expect(sig.accepts(shape: [5, 3]))
        #expect(!sig.accepts(shape: [5, 4]))
        #expect(!sig.accepts(shape: [3]))
        let wrongType = Tensor(unchecked: [1, 3], data: .int32([1, 2, 3]))
        #expect(throws: KeelError.invalidInput("input 'input' has datatype INT32, model expects FP32")) {
            try sig.validate(wrongType)
        }
    }

    @Test func gatherTakesRowsInOrder() throws {
        let t = Tensor(unchecked: [3, 2], data: .int64([1, 2, 3, 4, 5, 6]))
        let g = try TensorRows.gather(t, rows: [2, 0, 2])
        #expect(g.shape == [3, 2])
        #expect(g.int64s == [5, 6, 1, 2, 5, 6])
        #expect(throws: KeelError.self) { try TensorRows.gather(t, rows: [3]) }
    }

    @Test func halfFloatRoundTripsAndRounds() {
        for value: Float in [0, -0, 1, -2.5, 65504, 6.1035156e-05, 5.9604645e-08, .infinity] {
            #expect(HalfFloat.float(fromBits: HalfFloat.bits(from: value)) == value, "\(value)")
        }
        #expect(HalfFloat.float(fromBits: HalfFloat.bits(from: 1e6)) == .infinity)
        #expect(HalfFloat.float(fromBits: HalfFloat.bits(from: .nan)).isNaN)
        // 1 + 2^-11 is halfway between two halves: ties go to even (1.0).
        #expect(HalfFloat.float(fromBits: HalfFloat.bits(from: 1 + 0.00048828125)) == 1)
    }

    @Test func errorsMapToHTTPStatuses() {
        #expect(KeelError.invalidInput("x").httpStatus == 400)
        #expect(KeelError.notFound("x").httpStatus == 404)
        #expect(KeelError(.payloadTooLarge, "x").httpStatus == 413)
        #expect(KeelError(.unavailable, "x").httpStatus == 503)
    }
}
