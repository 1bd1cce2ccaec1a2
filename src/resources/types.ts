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
    /** One entry per running kernel (null where the server lists none). */
    kernels?: IKernelUsage[] | null;
    /** What a kernel's memory counts: pss (shared pages split) or rss. */
    kernel_memory?: 'pss' | 'rss' | null;
  };
  /** The home folder's usage against its quota (null without a quota reader). */
  storage?: IStorage | null;
  /** The site's share of the job's memory at which JupyterLab warns (0: off). */
  memory_warning_share?: number | null;
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
  /** NVML's compute processes on this GPU. */
  processes?: { pid: number; memory_bytes: number | null }[] | null;
}

/** One running kernel's use: its process tree's memory and CPU. */
export interface IKernelUsage {
  id: string;
  /** The notebook's path; null for a kernel without a notebook. */
  path: string | null;
  kernel_name: string | null;
  memory_bytes: number | null;
  peak_memory_bytes: number | null;
  cpu_percent: number | null;
  gpu_memory_bytes: number | null;
}

/** The home folder's storage (`quota`, `lfs`, `mmlsquota`, or the file system's free space). */
export interface IStorage {
  path: string;
  source: 'quota' | 'lfs' | 'mmlsquota' | 'df' | null;
  filesystem: string | null;
  used_bytes: number | null;
  soft_bytes: number | null;
  /** The hard limit; for `df` the file system's size. */
  hard_bytes: number | null;
  grace: string | null;
  over_soft: boolean;
  warning_share: number;
  problem: string | null;
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
  /** Percent of the job's memory at which to warn; null: the site's choice. */
  memoryWarningPercent: number | null;
}

export const DEFAULT_SETTINGS: IResourcesSettings = {
  usageInterval: 5,
  warningMinutes: [30, 10, 2],
  autosave: true,
  autosaveMinutes: 2,
  memoryWarningPercent: null
};

/** While the panel is hidden, only the end time is refreshed, this often (ms). */
export const HIDDEN_REFRESH_MS = 60 * 1000;

/** Command ids of the resources plugin. */
export namespace ResourcesCommandIDs {
  export const open = 'sdcc-lab:resources-open';
  export const saveAll = 'sdcc-lab:resources-save-all';
}
