-- CreateTable
CREATE TABLE "Network" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "cidr" TEXT NOT NULL,
    "gateway" TEXT NOT NULL,
    "dhcp" BOOLEAN NOT NULL DEFAULT true,
    "dns" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Network_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Nic" (
    "id" TEXT NOT NULL,
    "machineId" TEXT NOT NULL,
    "networkId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "mac" TEXT NOT NULL,
    "ip" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Nic_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Network_name_key" ON "Network"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Nic_mac_key" ON "Nic"("mac");

-- CreateIndex
CREATE UNIQUE INDEX "Nic_machineId_index_key" ON "Nic"("machineId", "index");

-- CreateIndex
CREATE UNIQUE INDEX "Nic_networkId_ip_key" ON "Nic"("networkId", "ip");

-- AddForeignKey
ALTER TABLE "Nic" ADD CONSTRAINT "Nic_machineId_fkey" FOREIGN KEY ("machineId") REFERENCES "Machine"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Nic" ADD CONSTRAINT "Nic_networkId_fkey" FOREIGN KEY ("networkId") REFERENCES "Network"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

