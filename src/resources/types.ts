/**
 * Types and constants of the session resources panel.
 */

/** `GET sdcc-lab/api/resources` (see docs/api.md, "Resources"). `null` = unknown. */
export interface IResources {
  scheduler: 'local' | 'slurm' | 'htcondor' | null;
  job: {
    id: string | null;
    partition: string | null;
    account: string | null;
    qos: string | null;
    nodes: string | null;
    environment: string | null;
  };
  allocation: {
    cpus: number | null;
    memory_bytes: number | null;
    gpus: number | null;
    /** Where the limits come from: slurm, htcondor, jupyterhub, cgroup, host (joined by +). */
    limits_from: string | null;
  };
  time: {
    start: string | null;
    end: string | null;
    limit_seconds: number | null;
    remaining_seconds: number | null;
  };
  usage: {
    memory_bytes: number | null;
    /** Percent of one CPU: 200 is two CPUs fully busy. */
    cpu_percent: number | null;
    gpus: IGPUUsage[] | null;
    measured_from: 'cgroup' | 'processes' | null;
  };
  updated_at: string;
  scheduler_checked_at: string | null;
  problems: string[];
}

/** `GET sdcc-lab/api/extend`: what the hub's policy still allows this session. */
export interface IExtendPolicy {
  available: boolean;
  /** Why Extend is not available (a local or HTCondor session, none left…). */
  reason: string | null;
  /** The most minutes one extension adds. */
  max_minutes: number;
  /** The minutes the panel offers. */
  minutes: number[];
  extensions_left: number;
}

/** `POST sdcc-lab/api/extend`: the job's new end. */
export interface IExtendResult {
  end: string | null;
  limit_seconds: number;
  extensions_left: number;
}

/** One GPU's use, read through NVML on the server. */
export interface IGPUUsage {
  id: string;
  name: string | null;
  utilization_percent: number | null;
  memory_bytes: number | null;
  memory_total_bytes: number | null;
}

/** One worker job, as `GET sdcc-lab/api/workers` lists it. */
export interface IWorkerJob {
  id: string;
  name: string;
  state: string;
  /** Why a pending job waits (Resources, Priority…); null otherwise. */
  reason: string | null;
  cpus: number | null;
  memory_bytes: number | null;
  gpus: number | null;
  partition: string | null;
}

/** The plugin's settings (schema/resources.json). */
export interface IResourcesSettings {
  /** Seconds between usage polls while the panel is visible. */
  usageInterval: number;
  /** Minutes before the end at which a warning is shown. */
  warningMinutes: number[];
  /** Save documents with unsaved changes on their own near the end. */
  autosave: boolean;
  /** Minutes before the end from which documents are saved on their own. */
  autosaveMinutes: number;
}

export const DEFAULT_SETTINGS: IResourcesSettings = {
  usageInterval: 5,
  warningMinutes: [30, 10, 2],
  autosave: true,
  autosaveMinutes: 2
};

/** While the panel is hidden, only the end time is refreshed, this often (ms). */
export const HIDDEN_REFRESH_MS = 60 * 1000;

/** Command ids of the resources plugin. */
export namespace ResourcesCommandIDs {
  export const open = 'sdcc-lab:resources-open';
  export const saveAll = 'sdcc-lab:resources-save-all';
}
