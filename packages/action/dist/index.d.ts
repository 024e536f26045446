/** @upgradekit/action — the GitHub/Gitea Action. Its inputs and outputs arrive with the Action issue. */
export declare const name = "upgradekit-action";
//# sourceMappingURL=index.d.ts.map