import KeelCore

/// Request examples for the API document, written for the bundled churn model (models/churn),
/// so a reader — or schemathesis — can send them to a fresh `keel serve` as they are.
enum ChurnExamples {
    /// One customer, as the v2 `input` tensor of 22 encoded features.
    static let inferenceRequest: JSONValue = .object([
        "inputs": .array([.object([
            "name": "input", "datatype": "FP32", "shape": .array([1, 22]),
            "data": .array([46.0, 1.0, 72665.6, 21.0, 18.0, 376.35, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]
                .map { .number($0) }),
        ])]),
    ])

    /// One raw customer record.
    static let records: JSONValue = .object([
        "instances": .array([.object([
            "customer_id": "C-008001", "age": 46, "gender": "Male", "income": 72665.6, "tenure_months": 21, "monthly_charges": 18.0,
            "total_charges": 376.35, "phone_service": "Yes", "internet_service": "No", "streaming_tv": "No", "streaming_movies": "No",
            "tech_support": "No", "device_protection": "No", "contract_type": "month-to-month", "paperless_billing": "Yes",
            "payment_method": "electronic check",
        ])]),
    ])

    /// Four holdout rows (two churned), labelled by the `churn` column.
    static let holdoutCSV: JSONValue = .string("""
        customer_id,age,gender,income,tenure_months,monthly_charges,total_charges,phone_service,internet_service,streaming_tv,streaming_movies,tech_support,device_protection,contract_type,paperless_billing,payment_method,churn
        C-008001,46,Male,72665.6,21,18.0,376.35,Yes,No,No,No,No,No,month-to-month,Yes,electronic check,0
        C-008002,51,Female,65165.66,45,69.28,3116.06,Yes,DSL,Yes,Yes,Yes,No,two year,Yes,mailed check,0
        C-008005,39,Female,50663.17,7,89.39,610.82,Yes,Fiber optic,Yes,Yes,No,No,month-to-month,Yes,electronic check,1
        C-008007,47,Male,88694.86,27,96.01,2609.31,Yes,Fiber optic,Yes,Yes,No,No,month-to-month,Yes,credit card,1

        """)

    static let version: JSONValue = .object(["version": 1])
    static let gate: JSONValue = .object(["gate": "size_mb <= 100"])
    static let key: JSONValue = .object(["role": "viewer", "name": "dashboard"])
    static let modelUpdate: JSONValue = .object(["description": "Customer churn", "owner": "data-science"])
    static let readyOnly: JSONValue = .object(["ready": true])
}
