//! The diesel schema, shared by SQLite and PostgreSQL (the migrations under
//! `migrations/sqlite` and `migrations/postgres` create the same tables).

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        email -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        disabled -> Bool,
        locale -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        source -> Text,
        chat_mobile -> Text,
        chat_user_id -> Text,
    }
}

diesel::table! {
    projects (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        svn_url -> Text,
        svn_credentials -> Nullable<Text>,
        staging_dir -> Text,
        staging_url -> Text,
        build_command -> Text,
        excludes -> Text,
        version_format -> Text,
        approvals_required -> Integer,
        allow_self_approval -> Bool,
        tested_by_may_approve -> Bool,
        approval_expiry_minutes -> Nullable<Integer>,
        time_zone -> Text,
        last_version -> Nullable<BigInt>,
        stage_seq -> BigInt,
        production_version -> Nullable<BigInt>,
        production_snapshot_seq -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        lock_job_id -> Nullable<BigInt>,
        lock_until -> Nullable<Timestamp>,
        deploy -> Text,
        require_outside_paths_confirmation -> Bool,
        maintenance_windows -> Text,
        services -> Text,
        service_actions -> Text,
        verify_cron -> Text,
        verify_cron_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    project_members (project_id, user_id, role) {
        project_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
    }
}

diesel::table! {
    host_groups (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
        relay -> Nullable<Text>,
        relay_port -> Nullable<Integer>,
        relay_identity -> Nullable<Text>,
        relay_known_hosts -> Nullable<Text>,
    }
}

diesel::table! {
    hosts (id) {
        id -> BigInt,
        group_id -> BigInt,
        name -> Text,
        target -> Text,
        running_version -> Nullable<BigInt>,
    }
}

diesel::table! {
    project_host_groups (project_id, group_id) {
        project_id -> BigInt,
        group_id -> BigInt,
    }
}

diesel::table! {
    freeze_windows (id) {
        id -> BigInt,
        project_id -> BigInt,
        kind -> Text,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        weekly_from -> Nullable<Integer>,
        weekly_to -> Nullable<Integer>,
        label -> Text,
    }
}

diesel::table! {
    tickets (id) {
        id -> BigInt,
        project_id -> BigInt,
        kind -> Text,
        state -> Text,
        reason -> Text,
        svn_paths -> Text,
        svn_revision -> Nullable<BigInt>,
        staged_revision -> Nullable<BigInt>,
        snapshot_commit -> Nullable<Text>,
        snapshot_seq -> Nullable<BigInt>,
        stage_generation -> Integer,
        tested_by -> Nullable<BigInt>,
        failed_from -> Nullable<Text>,
        last_error -> Nullable<Text>,
        version -> Nullable<BigInt>,
        target_version -> Nullable<BigInt>,
        submitter_id -> BigInt,
        lock_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        base_revision -> Nullable<BigInt>,
        abort_requested -> Bool,
        abort_revert -> Bool,
        outside_paths -> Text,
        outside_paths_confirmed_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    ticket_events (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        note -> Nullable<Text>,
        emergency_override -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_actions (id) {
        id -> BigInt,
        project_id -> BigInt,
        job_id -> Nullable<BigInt>,
        actor_id -> Nullable<BigInt>,
        service -> Text,
        action -> Text,
        scope -> Text,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_states (project_id, host, service) {
        project_id -> BigInt,
        host -> Text,
        service -> Text,
        state -> Text,
        pid -> Nullable<BigInt>,
        uptime -> Nullable<Text>,
        detail -> Text,
        read_at -> Timestamp,
    }
}

diesel::table! {
    host_reads (project_id, host) {
        project_id -> BigInt,
        host -> Text,
        version -> Nullable<Text>,
        read_at -> Timestamp,
    }
}

diesel::table! {
    host_drift (project_id, host) {
        project_id -> BigInt,
        host -> Text,
        version -> Text,
        changed -> Integer,
        missing -> Integer,
        added -> Integer,
        paths -> Text,
        found_at -> Timestamp,
    }
}

diesel::table! {
    approvals (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        user_id -> BigInt,
        generation -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        project_id -> Nullable<BigInt>,
        ticket_id -> Nullable<BigInt>,
        state -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_after -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        locked_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    job_logs (id) {
        id -> BigInt,
        job_id -> BigInt,
        ticket_id -> Nullable<BigInt>,
        stream -> Text,
        line -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    svn_revisions (id) {
        id -> BigInt,
        project_id -> BigInt,
        revision -> BigInt,
        author -> Text,
        committed_at -> Nullable<Timestamp>,
        message -> Text,
        paths -> Text,
    }
}

diesel::table! {
    release_hosts (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        host_id -> Nullable<BigInt>,
        host_name -> Text,
        target -> Text,
        state -> Text,
        version -> Nullable<BigInt>,
        error -> Nullable<Text>,
        updated_at -> Timestamp,
        steps -> Text,
    }
}

diesel::table! {
    admin_events (id) {
        id -> BigInt,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        subject -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    release_schedules (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        project_id -> BigInt,
        run_at -> Timestamp,
        scheduled_by -> BigInt,
        state -> Text,
        error -> Nullable<Text>,
        job_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        error_code -> Nullable<Text>,
    }
}

diesel::joinable!(project_members -> projects (project_id));
diesel::joinable!(project_members -> users (user_id));
diesel::joinable!(hosts -> host_groups (group_id));
diesel::joinable!(project_host_groups -> projects (project_id));
diesel::joinable!(project_host_groups -> host_groups (group_id));
diesel::joinable!(freeze_windows -> projects (project_id));
diesel::joinable!(tickets -> projects (project_id));
diesel::joinable!(ticket_events -> tickets (ticket_id));
diesel::joinable!(approvals -> tickets (ticket_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    projects,
    project_members,
    host_groups,
    hosts,
    project_host_groups,
    freeze_windows,
    tickets,
    ticket_events,
    approvals,
    jobs,
    job_logs,
    svn_revisions,
    release_hosts,
    admin_events,
    release_schedules,
    service_actions,
    service_states,
    host_reads,
    host_drift,
);
