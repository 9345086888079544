/// One named schema change; applied once, in list order, recorded in `keel_migrations`.
public struct Migration: Sendable {
    public var name: String
    public var statements: [String]
}

/// Keel's schema: one ordered list of migrations shared by SQLite and PostgreSQL. Append
/// only; never edit a migration that has shipped.
///
/// Migrations stay additive so two releases in a row can run against one database during a
/// rolling upgrade: a new migration only adds tables, columns (with defaults, so the previous
/// release's INSERTs still succeed) and indexes, and may copy data into what it added. It
/// never drops, renames or narrows anything the previous release still reads or writes.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(name: "001_registry", statements: [
            """
            CREATE TABLE registered_models (
                name TEXT PRIMARY KEY,
                description TEXT NOT NULL,
                tags TEXT NOT NULL,
                owner TEXT NOT NULL,
                last_version BIGINT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE model_versions (
                model TEXT NOT NULL REFERENCES registered_models(name),
                version BIGINT NOT NULL,
                artifact_sha256 TEXT NOT NULL,
                format TEXT NOT NULL,
                size_bytes BIGINT NOT NULL,
                filename TEXT NOT NULL,
                signature TEXT NOT NULL,
                metrics TEXT NOT NULL,
                params TEXT NOT NULL,
                tags TEXT NOT NULL,
                description TEXT NOT NULL,
                training_data TEXT,
                config_yaml TEXT,
                status TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (model, version)
            )
            """,
            """
            CREATE TABLE aliases (
                model TEXT NOT NULL,
                alias TEXT NOT NULL,
                version BIGINT NOT NULL,
                updated_by TEXT NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (model, alias)
            )
            """,
            """
            CREATE TABLE alias_moves (
                id {{pk}},
                model TEXT NOT NULL,
                alias TEXT NOT NULL,
                from_version BIGINT,
                to_version BIGINT,
                moved_by TEXT NOT NULL,
                forced BIGINT NOT NULL,
                moved_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE gates (
                model TEXT NOT NULL,
                metric TEXT NOT NULL,
                op TEXT NOT NULL,
                threshold DOUBLE PRECISION NOT NULL,
                created_by TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (model, metric, op)
            )
            """,
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                key_sha256 TEXT NOT NULL UNIQUE,
                created_by TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                revoked_at DOUBLE PRECISION
            )
            """,
            """
            CREATE TABLE audit_events (
                id {{pk}},
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                before_value TEXT,
                after_value TEXT,
                at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX alias_moves_model ON alias_moves (model, alias)",
            "CREATE INDEX audit_events_target ON audit_events (target)",
        ]),
        // Version numbers outlive their model (a deleted model's counter used to go with it),
        // metrics carry their provenance (measured by Keel or reported at registration: rows
        // written before, or by the previous release, have metrics_measured = 0), and a gate
        // may accept reported values.
        Migration(name: "002_counters_and_metric_provenance", statements: [
            """
            CREATE TABLE version_counters (
                model TEXT PRIMARY KEY,
                last_version BIGINT NOT NULL
            )
            """,
            "INSERT INTO version_counters (model, last_version) SELECT name, last_version FROM registered_models",
            "ALTER TABLE model_versions ADD COLUMN reported_metrics TEXT NOT NULL DEFAULT '{}'",
            "ALTER TABLE model_versions ADD COLUMN metrics_measured BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE gates ADD COLUMN accept_reported BIGINT NOT NULL DEFAULT 0",
        ]),
        // Monitoring: the prediction log, ground-truth feedback (joined to the prediction it
        // labels), reference profiles, monitoring events, the latest background drift and quality
        // results per version, and leases for controllers that exactly one replica runs.
        Migration(name: "003_monitoring", statements: [
            """
            CREATE TABLE prediction_log (
                id {{pk}},
                at DOUBLE PRECISION NOT NULL,
                model TEXT NOT NULL,
                version TEXT NOT NULL,
                arm TEXT NOT NULL,
                request_id TEXT NOT NULL,
                entity_id TEXT NOT NULL,
                record TEXT,
                features TEXT,
                encoded TEXT,
                outputs TEXT NOT NULL,
                score DOUBLE PRECISION,
                label TEXT,
                latency_ms DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX prediction_log_version_at ON prediction_log (model, version, at)",
            "CREATE INDEX prediction_log_entity_at ON prediction_log (model, entity_id, at)",
            "CREATE INDEX prediction_log_at ON prediction_log (at)",
            """
            CREATE TABLE feedback (
                prediction_id BIGINT PRIMARY KEY,
                model TEXT NOT NULL,
                version TEXT NOT NULL,
                arm TEXT NOT NULL,
                entity_id TEXT NOT NULL,
                predicted_at DOUBLE PRECISION NOT NULL,
                score DOUBLE PRECISION,
                predicted_label TEXT,
                outputs TEXT NOT NULL,
                label TEXT NOT NULL,
                label_value DOUBLE PRECISION,
                label_at DOUBLE PRECISION NOT NULL,
                received_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX feedback_version_predicted ON feedback (model, version, predicted_at)",
            """
            CREATE TABLE feedback_unmatched (
                id {{pk}},
                model TEXT NOT NULL,
                entity_id TEXT NOT NULL,
                label TEXT NOT NULL,
                label_at DOUBLE PRECISION NOT NULL,
                received_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX feedback_unmatched_model ON feedback_unmatched (model, received_at)",
            """
            CREATE TABLE reference_profiles (
                id {{pk}},
                model TEXT NOT NULL,
                version TEXT NOT NULL,
                source TEXT NOT NULL,
                row_count BIGINT NOT NULL,
                sampled BIGINT NOT NULL,
                seed BIGINT NOT NULL,
                summary TEXT NOT NULL,
                sample TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX reference_profiles_version ON reference_profiles (model, version)",
            """
            CREATE TABLE monitoring_events (
                id {{pk}},
                at DOUBLE PRECISION NOT NULL,
                model TEXT NOT NULL,
                version TEXT,
                kind TEXT NOT NULL,
                severity TEXT NOT NULL,
                message TEXT NOT NULL,
                details TEXT
            )
            """,
            "CREATE INDEX monitoring_events_model_at ON monitoring_events (model, at)",
            """
            CREATE TABLE monitoring_results (
                model TEXT NOT NULL,
                version TEXT NOT NULL,
                kind TEXT NOT NULL,
                computed_at DOUBLE PRECISION NOT NULL,
                window_spec TEXT NOT NULL,
                report TEXT NOT NULL,
                PRIMARY KEY (model, version, kind)
            )
            """,
            """
            CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL
            )
            """,
        ]),
        // Windows read the newest rows of one version page by page (ORDER BY id DESC): without
        // an index in id order each page sorted the version's whole log.
        Migration(name: "004_monitoring_window_indexes", statements: [
            "CREATE INDEX prediction_log_version_id ON prediction_log (model, version, id)",
            "CREATE INDEX feedback_version_prediction ON feedback (model, version, prediction_id)",
        ]),
        // Every index on the log is paid by every prediction: pruning by age finds its cut in
        // id order instead (the log is appended in time order), so the index on `at` goes.
        Migration(name: "005_prediction_log_fewer_indexes", statements: [
            "DROP INDEX prediction_log_at",
        ]),
        // Rollouts: the plan and progress of each as a document, the history beside it.
        Migration(name: "006_rollouts", statements: [
            """
            CREATE TABLE rollouts (
                id {{pk}},
                model TEXT NOT NULL,
                state TEXT NOT NULL,
                document TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX rollouts_model ON rollouts (model, id)",
            "CREATE INDEX rollouts_state ON rollouts (state)",
            """
            CREATE TABLE rollout_events (
                id {{pk}},
                rollout_id BIGINT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
                at DOUBLE PRECISION NOT NULL,
                kind TEXT NOT NULL,
                message TEXT NOT NULL,
                details TEXT
            )
            """,
            "CREATE INDEX rollout_events_rollout ON rollout_events (rollout_id, id)",
        ]),
        // Each replica's request and error counts per rollout step and version (and, for a
        // shadow candidate, how its answers compared), so the replica running the controller
        // sees every replica's traffic.
        Migration(name: "007_rollout_outcomes", statements: [
            """
            CREATE TABLE rollout_outcomes (
                rollout_id BIGINT NOT NULL,
                step INTEGER NOT NULL,
                replica TEXT NOT NULL,
                version TEXT NOT NULL,
                requests BIGINT NOT NULL,
                errors BIGINT NOT NULL,
                compared BIGINT NOT NULL,
                agreed BIGINT NOT NULL,
                abs_diff_sum DOUBLE PRECISION NOT NULL,
                abs_diff_max DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (rollout_id, step, replica, version)
            )
            """,
        ]),
        // How often each version's circuit breaker opened during a step (a tripped candidate
        // fails its analysis).
        Migration(name: "008_rollout_outcome_trips", statements: [
            "ALTER TABLE rollout_outcomes ADD COLUMN trips BIGINT NOT NULL DEFAULT 0",
        ]),
        // Batch jobs: the queue fields as columns (claimed with one query), the specification
        // as a document; each chunk with its lease, attempt and committed part file.
        Migration(name: "009_batch_jobs", statements: [
            """
            CREATE TABLE batch_jobs (
                id {{pk}},
                model TEXT NOT NULL,
                version TEXT NOT NULL,
                state TEXT NOT NULL,
                phase TEXT NOT NULL,
                priority INTEGER NOT NULL,
                spec TEXT NOT NULL,
                rows_total BIGINT,
                rows_done BIGINT NOT NULL,
                errors BIGINT NOT NULL,
                chunks_total INTEGER NOT NULL,
                chunks_done INTEGER NOT NULL,
                reason TEXT,
                holder TEXT,
                lease_until DOUBLE PRECISION,
                rows_at_start BIGINT NOT NULL,
                created_by TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                started_at DOUBLE PRECISION,
                finished_at DOUBLE PRECISION,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX batch_jobs_queue ON batch_jobs (state, priority, id)",
            """
            CREATE TABLE batch_chunks (
                job_id BIGINT NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
                idx INTEGER NOT NULL,
                first_row BIGINT NOT NULL,
                row_count BIGINT NOT NULL,
                first_line BIGINT NOT NULL,
                byte_start BIGINT,
                byte_end BIGINT,
                state TEXT NOT NULL,
                holder TEXT,
                lease_until DOUBLE PRECISION,
                attempt INTEGER NOT NULL,
                rows_done BIGINT NOT NULL,
                errors BIGINT NOT NULL,
                part TEXT,
                finished_at DOUBLE PRECISION,
                PRIMARY KEY (job_id, idx)
            )
            """,
            "CREATE INDEX batch_chunks_state ON batch_chunks (state, job_id, idx)",
        ]),
        // Who did it from where: the client address and request id of each audited change.
        Migration(name: "010_audit_origin", statements: [
            "ALTER TABLE audit_events ADD COLUMN address TEXT",
            "ALTER TABLE audit_events ADD COLUMN request_id TEXT",
        ]),
        // API keys that expire and keys limited to some models. (`key_sha256` keeps its name
        // and now holds `hmac-sha256:<hex>`; see APIKeyRecord.keyHash.)
        Migration(name: "011_key_limits", statements: [
            "ALTER TABLE api_keys ADD COLUMN expires_at DOUBLE PRECISION",
            "ALTER TABLE api_keys ADD COLUMN models TEXT",
        ]),
    ]
}
