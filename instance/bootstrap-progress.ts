/** What a bootstrap (initdb, clone, restore) is doing now, reported by the agent while it runs. */
export interface BootstrapProgress { step: string; percent: number | null }
